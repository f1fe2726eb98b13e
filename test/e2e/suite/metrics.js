// Figures the tests record for benchmarks (bench/activation.mjs reads them from the results).
'use strict';
const figures = {};
module.exports = {
  record(name, value) {
    figures[name] = value;
  },
  all: () => ({ ...figures }),
};
