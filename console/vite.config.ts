import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the gateway under /console/ (services/gateway/src/console, ADR 0020).
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    target: 'es2022',
    // Files only, nothing inlined: the page's CSP allows no inline script or style.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
