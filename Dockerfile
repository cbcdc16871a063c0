# The redslot image: one image runs both the node (`redslot node ...`) and the operator
# (`redslot operator ...`); pods always give the command, the default only prints the usage.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY redslot ./redslot
COPY node ./node
COPY operator ./operator
RUN pip install --no-cache-dir . \
    && rm -rf /src

RUN groupadd --system --gid 10001 redslot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin redslot \
    && mkdir -p /data /etc/redslot \
    && chown 10001:10001 /data

WORKDIR /data
USER 10001:10001

# Client port, cluster bus port (port + 10000), metrics / health endpoints.
EXPOSE 6379 16379 9121

ENTRYPOINT ["redslot"]
CMD ["--help"]
