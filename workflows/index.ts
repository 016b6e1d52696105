// The workflow bundle's entry: every workflow type a worker on the workflows queue can run.
export { datasetWorkflow } from './dataset';
export { shardWorkflow } from './shard';
