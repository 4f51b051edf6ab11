// The service as a library, for processes that host it themselves (the caller-verification benchmark).
export { startSessionsApp, type SessionsApp } from './sessions.app.js';
export { loadSessionsConfig, type SessionsConfig } from './sessions.config.js';
