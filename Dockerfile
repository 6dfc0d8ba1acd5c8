# Gateway image. Redis and Postgres come from docker-compose.yml (REDIS_URL / DATABASE_URL).
FROM node:20-bookworm-slim

ENV PORT=9001 \
    npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false

WORKDIR /app

COPY --chown=node:node package.json package-lock.json ./
# `npm start` runs the TypeScript sources directly through tsx (no build step)
RUN npm ci && npm cache clean --force

COPY --chown=node:node . .

USER node
EXPOSE 9001
CMD ["npm", "start"]
