export { ServiceHost, type ServiceHostConfig, type ServiceHostOptions } from './service-host.js';
export { ServiceJobs, type ServiceJobsOptions } from './jobs/service-jobs.js';
export { jobAffectedCounter, jobRunsCounter } from './jobs/job-metrics.js';
