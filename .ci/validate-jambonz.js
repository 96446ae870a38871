// Runs jambonz's own verb validator (npm @jambonz/verb-specifications, `validate(logger, verbs)`,
// the code the jambonz feature server runs on an application's answer) over every jambonz
// document the test suite received (one JSON file each). Exits 1 if any is rejected, if the
// folder holds none, or if the validator accepts a document it must refuse.
//
//   node .ci/validate-jambonz.js target/jambonz-documents
const fs = require('fs');
const path = require('path');
const {validate} = require('@jambonz/verb-specifications');

const dir = process.argv[2];
const logger = {debug() {}, info() {}, warn() {}, error() {}};
const rejects = (doc) => { try { validate(logger, doc); return false; } catch (err) { return true; } };

// The validator must be able to fail: a gather with a misspelt property is refused.
if (!rejects([{verb: 'gather', numDigit: 1}]) || !rejects([{verb: 'dial'}])) {
  console.error('the jambonz validator accepted documents it must refuse');
  process.exit(1);
}

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) {
  console.error(`no jambonz documents in ${dir}: did the jambonz tests run?`);
  process.exit(1);
}
let failed = 0;
const verbs = new Set();
for (const file of files) {
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  try {
    const doc = JSON.parse(text);
    validate(logger, doc);
    doc.forEach((v) => verbs.add(v.verb));
  } catch (err) {
    failed++;
    console.error(`REJECTED ${file}: ${err.message}\n  ${text}`);
  }
}
console.log(`${files.length - failed} of ${files.length} jambonz documents valid (verbs: ${[...verbs].sort().join(', ')})`);
process.exit(failed ? 1 : 0);
