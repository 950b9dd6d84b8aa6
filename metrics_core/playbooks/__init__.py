"""Playbooks: a trigger starts one run per account, its owner works through the plays, and
the outcomes of finished runs are compared with runs that were not finished."""
