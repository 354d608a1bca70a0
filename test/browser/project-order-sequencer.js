// Jest schedules every project's test files in one queue, ordered by past failures, past
// durations and file size, not by project: left alone, the browser file (long, so early) would
// start before the unit tests. This keeps jest's order within each project and puts the
// projects in the order of jest.config.js, so `jest` runs unit, then integration, then browser
// files. With more than one worker the next project's first files may start while the last
// files of the one before still run; the test files never depend on each other's results.
const Sequencer = require('@jest/test-sequencer').default;

const ORDER = ['unit', 'integration', 'browser'];

const rank = (test) => {
  const name = test.context.config.displayName?.name;
  const index = ORDER.indexOf(name);
  return index === -1 ? ORDER.length : index;
};

class ProjectOrderSequencer extends Sequencer {
  sort(tests) {
    // Array#sort is stable, so jest's own order survives within a project.
    return [...super.sort(tests)].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = ProjectOrderSequencer;
