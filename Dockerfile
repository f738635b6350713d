# syntax=docker/dockerfile:1
# One image for the five services, the web console and the deployment's one-shot steps; the
# command chooses (docs/deployment.md, "Artefacts"):
#   python -m shared.serve --host 0.0.0.0 --port 8000 services.<name>.main:create_app
#   python -m shared.serve --host 0.0.0.0 --port 8000 web.main:create_app
#   python -m shared.migrate services.<name>.main:spec
#   python -m shared.provision --replicas 3 [--dev-clock]
#   python -m shared.signing keys /keys application review assessment funding notification
#   python -m shared.stream_backup backup|restore DIR
# The base is pinned by tag; pin it by digest too where your registry policy asks for it
# (`docker buildx imagetools inspect python:3.11.11-slim-bookworm` prints the digest).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
COPY haizhi ./haizhi
COPY web ./web
# The project and its runtime dependencies only (no dev or bench extras); pip compiles them to
# bytecode here, since the running container's file system is read-only.
RUN pip install .

FROM ${PYTHON_IMAGE}
# A fixed unprivileged user (uid/gid 10001, as deploy/k8s runs it), and the folders volumes are
# mounted on, owned by it so that a new named volume takes that ownership.
RUN groupadd --system --gid 10001 haizhi \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin haizhi \
    && mkdir -p /app /keys /data/attachments \
    && chown 10001:10001 /keys /data /data/attachments
COPY --from=builder /opt/venv /opt/venv
COPY policies /app/policies
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HAIZHI_POLICY_DIR=/app/policies \
    HAIZHI_DATA_DIR=/data
USER 10001:10001
EXPOSE 8000
# Serves nothing: a container is started with one of the commands above.
CMD ["python", "-m", "shared.serve", "--help"]
