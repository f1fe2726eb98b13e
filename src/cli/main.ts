// bert-studio CLI: headless use of the same src/core the extension uses.
function main(argv: string[]): number {
  process.stdout.write(`bert-studio: ${argv.join(' ')}\n`);
  return 0;
}
process.exitCode = main(process.argv.slice(2));
