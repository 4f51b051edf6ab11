export { ServiceHost, type ServiceHostConfig, type ServiceHostOptions } from './service-host.js';
export { ServiceJobs, type ServiceJobsOptions } from './jobs/service-jobs.js';
