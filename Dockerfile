# One image for the API (the default command), the worker and the migrations:
#   docker run IMAGE                            uvicorn api.main:app on :8000
#   docker run IMAGE python worker.py           the Temporal worker
#   docker run IMAGE python -m ops.prepare      migrations (+ demo directory in development)
#   docker run IMAGE python -m ops.staff ...    the staff directory and API tokens (README)
#
# Settings come from the environment at run time, never from the image. In production the
# API also serves the managers' pages, and refuses to start without PAGES_SESSION_SECRET and
# the pages' sign-in client (OIDC_ISSUER, OIDC_AUDIENCE, PAGES_OIDC_CLIENT_ID,
# PAGES_OIDC_REDIRECT_URL; README, "The managers' pages in production"); the worker and the
# migrations serve no pages: run them with PAGES_ENABLED=false (docker-compose.yml does).
#
# The code runs from /app rather than being pip-installed into site-packages:
# config.ROOT is the folder config.py sits in, and alembic.ini, migrations/ and
# protocols/ are looked up beside it.

ARG PYTHON_IMAGE=python:3.11-slim-trixie

# --- dependencies, in a virtualenv of their own (cached until pyproject.toml changes)
FROM ${PYTHON_IMAGE} AS deps

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Runtime dependencies only: the [local] extra (dev server, honcho, SMTP sink) stays out.
RUN python -m venv /opt/venv
COPY pyproject.toml /tmp/build/
RUN /opt/venv/bin/python -c "import tomllib; print('\\n'.join(tomllib.load(open('/tmp/build/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/build/requirements.txt \
 && /opt/venv/bin/pip install --requirement /tmp/build/requirements.txt \
 && /opt/venv/bin/pip check

# --- the pages' front-end files (GOV.UK Frontend), from the lock file, served by the app
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- runtime
FROM ${PYTHON_IMAGE} AS runtime

# MPLCONFIGDIR: matplotlib (the pages' charts) keeps its font list in a cache folder, by
# default under $HOME, which the app user has none of (/nonexistent). It would then make a
# fresh temporary folder in every process, with a warning, and fail to import at all where
# no temporary folder is writable. /tmp is writable here; a read-only container needs a
# tmpfs there (the font list is then rebuilt at start: well under a second).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:${PATH} \
    PYTHONPATH=/app \
    MPLCONFIGDIR=/tmp/matplotlib

RUN groupadd --system --gid 10001 caseflow \
 && useradd --system --uid 10001 --gid caseflow --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin caseflow

COPY --from=deps /opt/venv /opt/venv

WORKDIR /app
# Owned by root and read-only to the app user: nothing here is written at run time.
COPY alembic.ini config.py database.py payload_codec.py temporal_setup.py worker.py \
     external-addresses.yaml ./
COPY workflows/ workflows/
COPY activities/ activities/
COPY models/ models/
COPY api/ api/
COPY pages/ pages/
COPY --from=web /web/node_modules/ web/node_modules/
COPY ops/ ops/
COPY protocols/ protocols/
COPY migrations/ migrations/
RUN python -m compileall -q /app

USER 10001:10001
EXPOSE 8000
CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000"]
