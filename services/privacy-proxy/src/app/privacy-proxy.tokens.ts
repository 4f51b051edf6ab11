/** The injection token of the proxy's opened parts (proxy-parts.ts). */
export const PROXY_PARTS = Symbol('privacy-proxy parts');
