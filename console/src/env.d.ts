/** Stylesheets are bundled by vite (ADR 0020). */
declare module '*.css';
