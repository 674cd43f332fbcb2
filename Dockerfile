# The dashboard image: gunicorn serving dashboard.app:server as a non-root user.
#
#   docker build -t music-recommender .                  # default: artifacts built from the demo data
#   docker run -p 8000:8000 music-recommender
#   docker run -p 8000:8000 -v /srv/artifacts:/data/artifacts:ro -e ARTIFACTS_DIR=/data/artifacts music-recommender
#
# BASE_IMAGE must be a Debian-based Python 3.11 image. Machines that reach no container
# registry build a local one with docker/make-base-image.sh (see docs/deployment.md).
ARG BASE_IMAGE=python:3.11-slim

# ---- builder: a virtualenv with the pinned runtime dependencies ------------------------------
FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements.txt constraints.txt ./
# The image needs only the runtime pins: everything above the "# Tests" section of requirements.txt,
# with their dependencies at the versions of constraints.txt.
RUN sed '/^# Tests/,$d' requirements.txt > requirements-runtime.txt \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements-runtime.txt -c constraints.txt

# ---- artifacts: the demo data set, built by the same pipeline that builds real data ----------
# (A set is written into a private temporary directory; a+rX lets the app user read it.)
FROM builder AS artifacts
ARG DEMO_SCALE=demo
ARG DEMO_SEED=42
COPY engine/ engine/
COPY build/ build/
RUN /opt/venv/bin/python -m build.demo_data --out /tmp/raw --scale "${DEMO_SCALE}" --seed "${DEMO_SEED}" \
    && /opt/venv/bin/python -m build.refresh --raw /tmp/raw --out /artifacts \
    && rm -rf /tmp/raw \
    && chmod -R a+rX /artifacts

# ---- runtime ---------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ARG APP_UID=10001
# /data is where real data goes: raw CSVs and artifact sets, on volumes owned by the app user
# (an empty named volume takes this ownership), so the image can also build them.
RUN groupadd --system --gid "${APP_UID}" app \
    && useradd --system --no-log-init --uid "${APP_UID}" --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /data/raw /data/artifacts \
    && chown "${APP_UID}:${APP_UID}" /data/raw /data/artifacts

# Configuration, all overridable with `-e`: the port gunicorn binds (on all interfaces), the
# number of workers, the artifact root (a baked demo set; mount real artifacts and point
# ARTIFACTS_DIR at them), the log level. The code is read-only for the app user, so
# writable state (numba's compiled query kernels) goes to /tmp.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    ARTIFACTS_DIR=/app/data/artifacts \
    LOG_LEVEL=info \
    NUMBA_CACHE_DIR=/tmp/numba-cache

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY --from=artifacts /artifacts data/artifacts
COPY gunicorn.conf.py ./
COPY engine/ engine/
COPY build/ build/
COPY dashboard/ dashboard/
# Compile the query kernels now (seconds), so that no container start pays for it.
RUN python -c "from engine import Recommender; Recommender.load('data/artifacts')" \
    && chown -R "${APP_UID}:${APP_UID}" "${NUMBA_CACHE_DIR}"

# Last, so a new commit rebuilds only this layer: the revision the image was built from.
ARG GIT_SHA=unknown
ENV GIT_SHA=${GIT_SHA}
LABEL org.opencontainers.image.title="hybrid-music-recommender" \
      org.opencontainers.image.revision="${GIT_SHA}"

USER ${APP_UID}:${APP_UID}
EXPOSE 8000
# No curl in slim images: the interpreter does the request; any non-2xx or no answer exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "dashboard.app:server"]
