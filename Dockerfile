# The bosun image: masters and agents can run as containers.
# BASE defaults to the official Node image for users with a registry; offline, the local
# one is used: docker build --build-arg BASE=bosun/node:local (scripts/build-images.sh --with-bosun).
ARG BASE=node:20-bookworm-slim
FROM ${BASE}
WORKDIR /opt/bosun
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
COPY dist ./dist
ENV NODE_ENV=production
ENTRYPOINT ["node", "/opt/bosun/dist/cmd/bosun.js"]
CMD ["help"]
