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
