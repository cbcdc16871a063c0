# The redslot image: one image runs both the node (`redslot node ...`) and the operator
# (`redslot operator ...`); pods always give the command, the default only prints the usage.
# scripts/build_image.py builds this very file without Docker (debootstrap, chroot, umoci,
# skopeo) for the e2e tests, so it keeps to the instructions that script carries out: FROM
# debian:<release>-slim, ENV with literal values, WORKDIR, COPY, RUN, USER, EXPOSE and the
# JSON forms of ENTRYPOINT and CMD.
FROM debian:bookworm-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/redslot/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Debian's Python in a venv: no compilers, no apt lists, no pip cache left in the image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && python3 -m venv /opt/redslot

RUN groupadd --system --gid 10001 redslot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin redslot \
    && mkdir -p /data /etc/redslot \
    && chown 10001:10001 /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY redslot ./redslot
COPY node ./node
COPY operator ./operator
RUN pip install --no-cache-dir . \
    && pip uninstall --yes pip setuptools \
    && rm -rf /src /tmp/*

WORKDIR /data
USER 10001:10001

# Client port, cluster bus port (port + 10000), metrics / health endpoints.
EXPOSE 6379 16379 9121

ENTRYPOINT ["redslot"]
CMD ["--help"]
