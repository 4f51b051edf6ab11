export { ServiceHost, type ServiceHostConfig, type ServiceHostOptions } from './service-host.js';
