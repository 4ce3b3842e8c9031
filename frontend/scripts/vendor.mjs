// Copies the npm-built socket.io-client ES module into vendor/ so nginx serves it without npm at run time.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = ["socket.io.esm.min.js", "socket.io.esm.min.js.map"];
mkdirSync(join(root, "vendor"), { recursive: true });
for (const file of files) {
  copyFileSync(join(root, "node_modules/socket.io-client/dist", file), join(root, "vendor", file));
}
console.log(`vendored socket.io-client: ${files.join(", ")}`);
// axe-core runs only inside the browser tests (tests/support/browser.py), never in the served page.
const testVendor = join(root, "..", "tests", "support", "vendor");
mkdirSync(testVendor, { recursive: true });
copyFileSync(join(root, "node_modules/axe-core/axe.min.js"), join(testVendor, "axe.min.js"));
console.log("vendored axe-core for the browser tests: tests/support/vendor/axe.min.js");
