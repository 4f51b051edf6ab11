import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the gateway under /console/ (services/gateway/src/console); `npx vite console` runs a
// dev server that proxies the API to a gateway on :8080 (npm start).
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    target: 'es2022',
    // One script and one stylesheet: the console is small (ADR 0020), so no code splitting.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(
      ['/v1', '/openapi.json', '/.well-known'].map((path) => [
        path,
        { target: 'http://127.0.0.1:8080', changeOrigin: false },
      ]),
    ),
  },
});
