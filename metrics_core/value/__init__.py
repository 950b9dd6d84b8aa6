"""Value and advocacy: the outcomes promised at the sale, and what customers did for us.

A success plan is the outcomes an account was promised when it bought (`outcomes`); each
has an owner and a target date, and is delivered, or not, by then. Delivered value counts
fully only once the customer acknowledges it. Advocacy (`advocacy`) is the referrals,
reviews, reference calls and case studies customers give, most often asked for when a
promoter's follow-up is open. `report` answers `value` with both.
"""
