export * from './privacy-redacted.event.js';
export * from './proxy-headers.js';
export * from './llm-governance.js';
export * from './budget-warning.event.js';
export * from './get-usage.rpc.js';
export * from './get-redactions.rpc.js';
export * from './mask-text.rpc.js';
export * from './restore-text.rpc.js';
