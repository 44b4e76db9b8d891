# syntax=docker/dockerfile:1
# One image for every clinicpay process; the process is chosen by the arguments:
#   docker build -t clinicpay:0.1.0 .
#   docker run --read-only --tmpfs /tmp clinicpay:0.1.0 invoicing api --host 0.0.0.0
# Runs as an unprivileged user with a read-only root filesystem (nothing is written outside
# /tmp); holds no secrets: settings and keys come from the environment at run time.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/clinicpay
# Runtime dependencies only, every artifact checked against the lock's hashes.
COPY requirements-runtime.lock ./
RUN /opt/clinicpay/bin/pip install --require-hashes --no-deps -r requirements-runtime.lock
COPY pyproject.toml ./
COPY lib ./lib
COPY schemas ./schemas
COPY services ./services
RUN /opt/clinicpay/bin/pip install --no-deps . \
    && /opt/clinicpay/bin/python -m compileall -q /opt/clinicpay/lib

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/clinicpay/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    CLINICPAY_ENV=production \
    LOG_JSON=true \
    METRICS_HOST=0.0.0.0
RUN groupadd --system --gid 10001 clinicpay \
    && useradd --system --uid 10001 --gid clinicpay --no-create-home --shell /usr/sbin/nologin clinicpay
COPY --from=build /opt/clinicpay /opt/clinicpay
USER 10001:10001
WORKDIR /tmp
# APIs listen on their *_PORT; relays and workers answer probes and scrapes on METRICS_PORT.
EXPOSE 8001 8002 8003 8004 8005 9090
ENTRYPOINT ["clinicpay"]
CMD ["--help"]
