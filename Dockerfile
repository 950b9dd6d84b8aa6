# Closeloop as one container: `docker build -t closeloop .` (or `podman build`), then see the
# README's "Running in a container". The image holds the service and its dependencies only:
# no secrets, no database, no demo data (CLOSELOOP_DEMO=1 loads the demo at start).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the project as a wheel, and the list of what it depends on ------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml ./
# Two lists read from pyproject.toml alone, so that their layers (and the runtime's
# dependency layer) are rebuilt only when the declared dependencies change, not the code.
RUN python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); \
open("build-requirements.txt", "w").write("\n".join(p["build-system"]["requires"]) + "\n"); \
open("requirements.txt", "w").write("\n".join(p["project"]["dependencies"]) + "\n")'
RUN python3 -m venv /opt/build && /opt/build/bin/pip install --quiet -r build-requirements.txt
COPY README.md ./
COPY adapters ./adapters
COPY bot ./bot
COPY metrics_core ./metrics_core
RUN /opt/build/bin/pip wheel --quiet --no-deps --no-build-isolation --wheel-dir /dist .

# --- runtime: a virtual environment with the wheel and its dependencies, run as a user --------
FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/closeloop \
    PATH=/opt/closeloop/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN python3 -m venv /opt/closeloop
COPY --from=build /src/requirements.txt /tmp/requirements.txt
RUN pip install --quiet -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY --from=build /dist/ /tmp/dist/
# With its dependencies in place this installs the wheel alone, and fails if the wheel asks
# for anything the layer above did not install.
RUN pip install --quiet /tmp/dist/*.whl && rm -rf /tmp/dist

# A fixed numeric id, so that orchestrators can check it is not root (runAsNonRoot).
RUN groupadd --gid 10001 closeloop \
    && useradd --uid 10001 --gid closeloop --home-dir /var/lib/closeloop \
        --no-create-home --shell /usr/sbin/nologin closeloop \
    && install -d -o closeloop -g closeloop -m 0750 /var/lib/closeloop
COPY --chmod=0755 docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

# The data directory is the working directory: the default SQLite database
# (sqlite:///./closeloop.db) and an optional .env live there. With PostgreSQL
# (DATABASE_URL) nothing is written to it.
WORKDIR /var/lib/closeloop
VOLUME ["/var/lib/closeloop"]
USER 10001:10001
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CLOSELOOP_HOST=0.0.0.0 \
    CLOSELOOP_PORT=3000
EXPOSE 3000
# Liveness as /healthz says it: the process answers. No curl in a slim image; Python is here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CLOSELOOP_PORT', '3000'), timeout=4)"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["serve"]
