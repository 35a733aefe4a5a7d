// Child process entry: node --expose-gc child-entry.mjs <scenario> <library id> <params JSON>
import { failFromChild, reportFromChild } from './child.mjs';
import { libraryById } from './libraries.mjs';
import { scenarios } from '../scenarios/index.mjs';

const [scenarioName, libraryId, paramsJson] = process.argv.slice(2);
const scenario = scenarios.find((candidate) => candidate.name === scenarioName);
if (scenario === undefined) throw new Error(`Unknown scenario ${JSON.stringify(scenarioName)}`);
const library = libraryById(libraryId);
try {
  await library.load();
  reportFromChild(await scenario.measure(library, JSON.parse(paramsJson)));
} catch (error) {
  failFromChild(error);
}
