import { it } from "vitest"
import { startFakeContreeApi } from "../fake/FakeContreeApi.js"
import { callOk, callError, connectStdio } from "./harness.js"
it("smoke", async () => {
  const fake = await startFakeContreeApi()
  const s = await connectStdio({ url: fake.url, token: fake.token })
  try {
    console.log((await s.client.listTools()).tools.map(t => t.name))
    console.log(await callOk(s.client, "contree_list_images", {}))
    const run = await callOk(s.client, "contree_run", { command: "echo hi > /root/x; cat /etc/os-release; exit 3", image: "tag:busybox:latest", disposable: false })
    console.log(run)
    console.log(await callOk(s.client, "contree_read_file", { image: run.result_image, path: "/root/x" }))
    console.log(await callError(s.client, "contree_read_file", { image: "nope", path: "/root/x" }))
  } finally { console.log(s.stderr()); await s.close(); await fake.close() }
}, 30000)
