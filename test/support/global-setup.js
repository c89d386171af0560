// The Lambda handlers are bundled (esbuild, well under a second) before any test synthesizes a
// stack that stages them, so a fresh clone needs no build step before `npx jest`.
module.exports = async () => {
  await import('../../scripts/bundle-lambda.mjs');
};
