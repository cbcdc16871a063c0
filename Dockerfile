# The redslot image: one image runs both the node (`redslot node ...`) and the operator
# (`redslot operator ...`); pods always give the command, the default only prints the usage.
# scripts/build_image.py builds this very file without Docker (debootstrap, chroot, umoci,
# skopeo) for the e2e tests, so it keeps to the instructions that script carries out: FROM
# debian:<release>-slim [AS name], ENV with literal values, WORKDIR, COPY (--from=<stage> for
# a path of an earlier stage), RUN, USER, EXPOSE and the JSON forms of ENTRYPOINT and CMD.

# The build stage: a C compiler and Python's headers, so `pip install .` compiles the hot
# modules with mypyc (setup.py) into the venv; the check fails the build if it did not.
# setup.py keeps what it compiled under ~/.cache/redslot/mypyc, keyed by a hash of node/: a
# cache mount keeps that between builds, so an image whose node/ did not change (an operator
# change) copies the extensions instead of compiling them again.
FROM debian:bookworm-slim AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/redslot/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev gcc libc6-dev \
    && python3 -m venv /opt/redslot

WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY redslot ./redslot
COPY node ./node
COPY operator ./operator
RUN --mount=type=cache,target=/root/.cache/redslot pip install --no-cache-dir . \
    && redslot node --version | grep -q "build=compiled" \
    && pip uninstall --yes pip setuptools

# The image: Debian's Python and the venv the build stage filled; no compiler, no apt lists,
# no pip cache.
FROM debian:bookworm-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/redslot/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log

RUN groupadd --system --gid 10001 redslot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin redslot \
    && mkdir -p /data /etc/redslot \
    && chown 10001:10001 /data

COPY --from=build /opt/redslot /opt/redslot

WORKDIR /data
USER 10001:10001

# Client port, cluster bus port (port + 10000), metrics / health endpoints.
EXPOSE 6379 16379 9121

ENTRYPOINT ["redslot"]
CMD ["--help"]
