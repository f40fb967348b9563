// Precompresses the browser bundle: FILE.br (brotli, quality 11) and FILE.gz (gzip -9) beside
// each FILE given, so the server sends the smallest encoding a browser accepts without
// compressing on every request. Node's own zlib: nothing to install.
const zlib = require("zlib");
const fs = require("fs");

for (const file of process.argv.slice(2)) {
  const bytes = fs.readFileSync(file);
  const br = zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  const gz = zlib.gzipSync(bytes, { level: 9 });
  fs.writeFileSync(file + ".br", br);
  fs.writeFileSync(file + ".gz", gz);
  console.log(`${file}: ${bytes.length} raw, ${gz.length} gzip, ${br.length} brotli`);
}
