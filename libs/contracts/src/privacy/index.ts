export * from './privacy-redacted.event.js';
export * from './proxy-headers.js';
