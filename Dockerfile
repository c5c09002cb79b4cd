# The sipway proxy from the packed packages, as npm users get it.
#   pnpm install && pnpm --filter './packages/*' build
#   mkdir -p .docker-packages && for p in packages/*/; do (cd "$p" && [ "$(node -p 'require("./package.json").private')" != true ] && pnpm pack --pack-destination ../../.docker-packages); done
#   docker build -t sipway .
#   docker run --rm -p 5060:5060/udp -p 5060:5060/tcp -e SIPWAY_CONTACT_KEY=hex:$(openssl rand -hex 32) \
#     -e SIPWAY_NONCE_SECRET=$(openssl rand -hex 32) sipway --domain example.com
# A leg names the address it listens on and writes in Via (not 0.0.0.0): without --leg flags the
# container listens on its own address (hostname -i) on 5060; with --network host give the host's
# address: docker run … --network host sipway --leg udp:192.0.2.10:5060 --domain example.com
# This file is not built in sipway's CI (no container engine there).
FROM node:20-slim

ENV NODE_ENV=production
WORKDIR /opt/sipway
COPY .docker-packages/*.tgz /tmp/sipway/
# Every @sipway tarball in one install, so the CLI's @sipway dependencies come from them, not the registry.
RUN npm install --global --omit=dev --no-audit --no-fund /tmp/sipway/*.tgz \
 && rm -rf /tmp/sipway /root/.npm

USER node
EXPOSE 5060/udp 5060/tcp
# SIGTERM closes the legs and exits 0 (docker stop).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c", "case \" $* \" in *' --leg '*) exec sipway proxy \"$@\" ;; *) a=$(hostname -i | cut -d' ' -f1); exec sipway proxy --leg udp:$a:5060 --leg tcp:$a:5060 \"$@\" ;; esac", "sipway"]
CMD []
