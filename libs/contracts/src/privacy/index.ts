export * from './privacy-redacted.event.js';
