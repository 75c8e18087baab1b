# The Lingang bot: `lingang-bot serve` with the semantic matcher, as a non-root user.
# Build: docker compose build (see README "Production"). Settings come from the environment only;
# none is baked in here but the container's paths.
#
# PYTHON_IMAGE: the official python:3.11-slim-bookworm by default, or the same Python from
# Debian's packages (deploy/images/build-base.sh) where no registry is reachable. Either way
# the bot lives in the venv /opt/venv, built in a first stage and copied into the second.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python3 -m venv /opt/venv
WORKDIR /build

# Dependencies first, in their own layer: rebuilt only when pyproject.toml or the pins change.
# The list is read from pyproject.toml (its dependencies, the semantic matcher's model among
# them), pinned by constraints.txt. deploy/wheels, when deploy/wheelhouse.sh filled it, is the
# only source (no index needed); empty, pip uses PyPI. The env vars reach the pip that builds
# the bot below too.
COPY pyproject.toml constraints.txt ./
COPY deploy/wheels/ ./wheels/
RUN if ls wheels/*.whl > /dev/null 2>&1; then \
        export PIP_NO_INDEX=1 PIP_FIND_LINKS=/build/wheels; \
    fi \
    && python -c "import tomllib; project = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(project['dependencies']))" > requirements.txt \
    && pip install -c constraints.txt -r requirements.txt

# The bot itself (its dependencies are already there).
COPY README.md ./
COPY bot ./bot
COPY intents ./intents
COPY storage ./storage
RUN if ls wheels/*.whl > /dev/null 2>&1; then \
        export PIP_NO_INDEX=1 PIP_FIND_LINKS=/build/wheels; \
    fi \
    && pip install --no-deps . && rm -rf build *.egg-info

FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 lingang \
    && useradd --system --uid 10001 --gid lingang --home-dir /srv/lingang \
        --shell /usr/sbin/nologin lingang

COPY --from=build /opt/venv /opt/venv

# The FAQ files that seed an empty database (after that the catalog's revisions live in
# PostgreSQL). The code and the model stay in the package.
COPY --chown=lingang:lingang intents/*.yaml intents/README.md /srv/lingang/intents/
COPY --chown=lingang:lingang intents/faq /srv/lingang/intents/faq/
COPY --chown=lingang:lingang intents/forms /srv/lingang/intents/forms/
COPY --chown=lingang:lingang intents/heldout /srv/lingang/intents/heldout/
COPY --chown=lingang:lingang intents/sources /srv/lingang/intents/sources/
RUN mkdir -p /srv/lingang/data && chown lingang:lingang /srv/lingang/data

# The cache on the data volume the replicas share (the user has no writable home folder).
ENV LINGANG_DATA_DIR=/srv/lingang/data \
    LINGANG_CACHE_DIR=/srv/lingang/data/cache \
    LINGANG_INTENTS_DIR=/srv/lingang/intents \
    LINGANG_HOST=0.0.0.0 \
    LINGANG_PORT=8000

WORKDIR /srv/lingang
USER lingang
EXPOSE 8000

# Alive (not ready: /readyz, which checks the database and the catalog, is the proxy's check).
# Slim images have no curl; Python's urllib is enough.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LINGANG_PORT', '8000'), timeout=4)"]

CMD ["lingang-bot", "serve"]
