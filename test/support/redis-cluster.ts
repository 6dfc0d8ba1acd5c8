/** The throwaway local Redis Cluster lives with the other local services (scripts/services/redis-cluster.ts); tests start theirs from there. */
export { onPath, startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../../scripts/services/redis-cluster.js';
