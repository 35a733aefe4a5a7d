export {
  SharedTokenBucketFilter,
  type SharedTokenBucketFromOptions,
  type SharedTokenBucketHandle,
} from './SharedTokenBucketFilter.js';
