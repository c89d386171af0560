// Masks CDK asset hashes in snapshots, so a snapshot changes only when the template does.
const HASH = /[0-9a-f]{64}/;

module.exports = {
  test: (value) => typeof value === 'string' && HASH.test(value),
  serialize: (value) => JSON.stringify(value.replace(new RegExp(HASH.source, 'g'), '[HASH REMOVED]')),
};
