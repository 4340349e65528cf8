/**
 * The Kafka protocol APIs Sluice serves: one module per API, the registry that frames and
 * dispatches them, and Kafka's error codes.
 */
export * from './api.js';
export * from './registry.js';
export * from './error-codes.js';
export * from './add-offsets-to-txn.js';
export * from './add-partitions-to-txn.js';
export * from './api-versions.js';
export * from './create-partitions.js';
export * from './create-topics.js';
export * from './delete-groups.js';
export * from './delete-topics.js';
export * from './elect-leaders.js';
export * from './describe-configs.js';
export * from './describe-groups.js';
export * from './end-txn.js';
export * from './fetch.js';
export * from './find-coordinator.js';
export * from './heartbeat.js';
export * from './init-producer-id.js';
export * from './join-group.js';
export * from './leave-group.js';
export * from './list-groups.js';
export * from './list-offsets.js';
export * from './metadata.js';
export * from './offset-commit.js';
export * from './offset-delete.js';
export * from './offset-fetch.js';
export * from './produce.js';
export * from './sasl-authenticate.js';
export * from './sasl-handshake.js';
export * from './sync-group.js';
export * from './txn-offset-commit.js';
export * from './describe-producers.js';
export * from './describe-transactions.js';
export * from './list-transactions.js';
export * from './offset-for-leader-epoch.js';
