export * from './session.schema.js';
export * from './create-session.rpc.js';
export * from './get-session.rpc.js';
export * from './list-sessions.rpc.js';
export * from './apply-session-event.rpc.js';
export * from './list-session-transitions.rpc.js';
export * from './session-created.event.js';
export * from './session-transitioned.event.js';
