/**
 * Where a worker script lives. Node runs worker threads (shard workers, the log cleaner's pool)
 * from JavaScript files, so a module resolves its worker beside itself. Under a TypeScript test
 * runner the module is `src/<dir>/<name>.ts` and no JavaScript sits beside it: the build's copy in
 * `dist/src/<dir>/` is used instead (the package's pretest script builds it).
 */
export function compiledSiblingUrl(moduleUrl: string, javascriptFileName: string): URL {
  if (moduleUrl.endsWith('.ts')) {
    const sourceRoot = moduleUrl.lastIndexOf('/src/');
    if (sourceRoot < 0) throw new Error(`cannot map ${moduleUrl} to its build output: it is not under a src/ directory`);
    return new URL(javascriptFileName, `${moduleUrl.slice(0, sourceRoot)}/dist${moduleUrl.slice(sourceRoot)}`);
  }
  return new URL(javascriptFileName, moduleUrl);
}
