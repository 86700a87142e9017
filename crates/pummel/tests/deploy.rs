//! The deployment files, checked as far as a machine with no cluster and no container daemon can:
//! the Kubernetes overlays rendered by `kubectl kustomize` and validated against the Kubernetes
//! schemas (`kubernetes-validate`, offline), the shape a cluster needs (volumes, probes, tokens from
//! the Secret, nothing as root), the systemd units verified by `systemd-analyze`, the Dockerfile
//! read — and the server and an agent started with exactly the command, arguments, user and
//! environment that the manifests and the Dockerfile give them.
//!
//! The tools are installed by `scripts/test-deps.d/30-deploy.sh`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::skip_without;

/// The Kubernetes version the manifests are validated against besides the validator's newest:
/// the oldest minor version still in common use among managed clusters.
const OLDEST_KUBERNETES: &str = "1.30.0";

/// The values the test's Secret holds (`tokens.env` of the overlays).
pub(crate) const TOKENS: [(&str, &str); 3] = [
    ("admin", "admin-0123456789abcdef0123456789abcdef"),
    ("agent", "agent-0123456789abcdef0123456789abcdef"),
    ("client", "client-0123456789abcdef0123456789abcdef"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The deployment tools, or `None` (after recording the skip) when one is missing.
pub(crate) struct Tools {
    kubectl: PathBuf,
    validate: PathBuf,
    python: PathBuf,
}

impl Tools {
    pub(crate) fn find(test: &str) -> Option<Tools> {
        let venv = repo().join("target/test-tools/deploy-venv/bin");
        let tools = Tools {
            kubectl: which("kubectl")?,
            validate: venv.join("kubernetes-validate"),
            python: venv.join("python"),
        };
        for tool in [&tools.validate, &tools.python] {
            if !tool.is_file() {
                skip_without(test, &format!("{} is missing", tool.display()));
                return None;
            }
        }
        Some(tools)
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        skip_without(tool, &format!("{tool} is not on PATH"));
    }
    found
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// One overlay rendered: the YAML text and its objects as JSON.
pub(crate) struct Rendered {
    pub(crate) yaml: String,
    pub(crate) objects: Vec<Value>,
}

impl Rendered {
    pub(crate) fn object(&self, kind: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in the rendered manifests"))
    }

    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }
}

/// Renders `deploy/kubernetes/<dir>` from a copy of the tree that holds the test's `tokens.env`
/// (the real one is the user's and stays out of version control).
pub(crate) fn render(tools: &Tools, dir: &str) -> Rendered {
    let copy = tempfile::tempdir().expect("a temporary directory");
    copy_tree(&repo().join("deploy/kubernetes"), copy.path());
    let tokens: String = TOKENS.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(copy.path().join("overlays/small/tokens.env"), tokens)
        .expect("write tokens.env");
    let out = run(Command::new(&tools.kubectl)
        .arg("kustomize")
        .arg(copy.path().join(dir)));
    let yaml = String::from_utf8(out.stdout).expect("kustomize prints UTF-8");
    let json = run(Command::new(&tools.python)
        .args([
            "-c",
            "import sys, json, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)",
        ])
        .stdin(std::fs::File::open(write_temp(copy.path(), "rendered.yaml", &yaml)).expect("open")));
    let objects: Vec<Value> =
        serde_json::from_slice(&json.stdout).expect("rendered objects as JSON");
    Rendered { yaml, objects }
}

fn write_temp(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a temporary file");
    path
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    for entry in std::fs::read_dir(from).expect("read a directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// Runs `kubernetes-validate --strict` on YAML text; returns its output and whether it passed.
fn validate(tools: &Tools, yaml: &str, version: Option<&str>) -> (bool, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = write_temp(dir.path(), "manifests.yaml", yaml);
    let mut command = Command::new(&tools.validate);
    command.arg("--strict");
    if let Some(version) = version {
        command.args(["--kubernetes-version", version]);
    }
    let output = command
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .expect("run kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

const OVERLAYS: [&str; 3] = ["base", "overlays/small", "overlays/tls"];

#[test]
fn every_overlay_renders_and_passes_the_kubernetes_schemas() {
    let _busy = crate::util::busy();
    let Some(tools) = Tools::find("every_overlay_renders_and_passes_the_kubernetes_schemas") else {
        return;
    };
    for dir in OVERLAYS {
        let rendered = render(&tools, dir);
        assert!(
            rendered.objects.len() >= 5,
            "{dir}: {} objects",
            rendered.objects.len()
        );
        for version in [None, Some(OLDEST_KUBERNETES)] {
            let (passed, text) = validate(&tools, &rendered.yaml, version);
            assert!(passed, "{dir} against {version:?}:\n{text}");
            let passes = text.matches(" passed for resource ").count();
            assert_eq!(
                passes,
                rendered.objects.len(),
                "{dir}: every object validated:\n{text}"
            );
        }
    }
}

#[test]
fn the_schema_check_rejects_a_manifest_with_a_field_kubernetes_does_not_know() {
    let _busy = crate::util::busy();
    let Some(tools) = Tools::find("the_schema_check_rejects_a_manifest_with_a_field") else {
        return;
    };
    let rendered = render(&tools, "overlays/small");
    let broken = rendered
        .yaml
        .replacen("  serviceName:", "  serviceNmae:", 1);
    assert_ne!(
        broken, rendered.yaml,
        "the StatefulSet has a serviceName to misspell"
    );
    let (passed, text) = validate(&tools, &broken, None);
    assert!(!passed, "a misspelt field passed the strict check:\n{text}");
}

fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no container {name}"))
}

pub(crate) fn args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Every pod runs as a non-root user, without privilege escalation, with no capabilities.
fn assert_unprivileged(workload: &Value) {
    let name = &workload["metadata"]["name"];
    let pod = &workload["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
    let uid = pod["securityContext"]["runAsUser"].as_u64().unwrap_or(0);
    assert!(uid > 0, "{name} runs as uid {uid}");
    let containers = pod["containers"].as_array().into_iter().flatten();
    let inits = pod["initContainers"].as_array().into_iter().flatten();
    for c in containers.chain(inits) {
        let sc = &c["securityContext"];
        assert_eq!(
            sc["allowPrivilegeEscalation"], false,
            "{name}/{}",
            c["name"]
        );
        assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{name}/{}", c["name"]);
    }
}

/// The env var `name` of a container, as a `secretKeyRef` (secret, key) or a plain value.
fn env_entry<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no env {name} in {}", container["name"]))
}

#[test]
fn the_manifests_give_the_server_a_volume_and_the_agents_the_server_and_a_token() {
    let _busy = crate::util::busy();
    let Some(tools) = Tools::find("the_manifests_give_the_server_a_volume") else {
        return;
    };
    let small = render(&tools, "overlays/small");
    let server = small.object("StatefulSet", "pummel-server");
    let agents = small.object("Deployment", "pummel-agent");
    assert_unprivileged(server);
    assert_unprivileged(agents);
    let image_uid = image()
        .user
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    for workload in [server, agents] {
        let uid = &workload["spec"]["template"]["spec"]["securityContext"]["runAsUser"];
        assert_eq!(
            uid.to_string(),
            image_uid,
            "the pods run as the image's user"
        );
    }
    assert_eq!(
        agents["spec"]["replicas"], 3,
        "the small cluster has three agents"
    );

    // The store is on the claimed volume, where --data-dir points.
    let main = container(server, "server");
    let main_args = args(main);
    let data_dir = flag(&main_args, "--data-dir").expect("the server is given --data-dir");
    let claim = &server["spec"]["volumeClaimTemplates"][0]["metadata"]["name"];
    let mount = main["volumeMounts"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == *claim))
        .expect("the claimed volume is mounted");
    assert_eq!(mount["mountPath"], data_dir);
    assert_eq!(main["readinessProbe"]["httpGet"]["path"], "/healthz");

    // The agents dial the Service, at the port it serves.
    let service = small.object("Service", "pummel-server");
    let port = service["spec"]["ports"][0]["port"]
        .as_u64()
        .expect("a service port");
    let listen = flag(&main_args, "--listen").expect("the server is given --listen");
    assert!(
        listen.ends_with(&format!(":{port}")),
        "{listen} vs service port {port}"
    );
    let agent = container(agents, "agent");
    assert_eq!(
        env_entry(agent, "PUMMEL_SERVER")["value"],
        format!("http://pummel-server:{port}")
    );

    // The root file system is read-only: a plan's data files go to a writable /tmp.
    let tmp = agent["volumeMounts"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["mountPath"] == "/tmp"))
        .expect("the agent has a /tmp to write to");
    let volumes = agents["spec"]["template"]["spec"]["volumes"].as_array();
    assert!(
        volumes.is_some_and(|v| v
            .iter()
            .any(|v| v["name"] == tmp["name"] && v["emptyDir"].is_object())),
        "the agent's /tmp is an emptyDir"
    );

    // Every token comes from the generated Secret, and the server registers each one.
    let secret = small.of_kind("Secret");
    assert_eq!(secret.len(), 1, "one Secret");
    let secret_name = &secret[0]["metadata"]["name"];
    let agent_token = &env_entry(agent, "PUMMEL_TOKEN")["valueFrom"]["secretKeyRef"];
    assert_eq!(&agent_token["name"], secret_name);
    assert_eq!(agent_token["key"], "agent");
    let inits = server["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .expect("the server registers its tokens before it starts");
    let mut registered: BTreeMap<String, String> = BTreeMap::new();
    for init in inits {
        let a = args(init);
        let var = flag(&a, "--value-from-env").expect("a token read from the environment");
        let from = &env_entry(init, var)["valueFrom"]["secretKeyRef"];
        assert_eq!(&from["name"], secret_name);
        let role = flag(&a, "--role").expect("a role").to_owned();
        registered.insert(role, from["key"].as_str().unwrap_or_default().to_owned());
        assert_eq!(
            flag(&a, "--data-dir"),
            Some(data_dir),
            "the token goes to the server's store"
        );
    }
    let roles: Vec<&str> = registered.keys().map(String::as_str).collect();
    assert_eq!(roles, ["admin", "agent", "client"]);
}

#[test]
fn the_tls_overlay_serves_https_and_the_agents_trust_its_ca() {
    let _busy = crate::util::busy();
    let Some(tools) = Tools::find("the_tls_overlay_serves_https") else {
        return;
    };
    let tls = render(&tools, "overlays/tls");
    let server = container(tls.object("StatefulSet", "pummel-server"), "server");
    let a = args(server);
    let cert = flag(&a, "--tls-cert").expect("--tls-cert");
    let key = flag(&a, "--tls-key").expect("--tls-key");
    let mounted = |c: &Value, path: &str| {
        c["volumeMounts"].as_array().is_some_and(|ms| {
            ms.iter()
                .any(|m| path.starts_with(m["mountPath"].as_str().unwrap_or("//")))
        })
    };
    assert!(
        mounted(server, cert) && mounted(server, key),
        "certificate and key are mounted"
    );
    assert_eq!(server["readinessProbe"]["httpGet"]["scheme"], "HTTPS");
    let agent = container(tls.object("Deployment", "pummel-agent"), "agent");
    let url = env_entry(agent, "PUMMEL_SERVER")["value"]
        .as_str()
        .expect("a URL");
    assert!(url.starts_with("https://pummel-server."), "{url}");
    let agent_args = args(agent);
    let ca = flag(&agent_args, "--server-ca").expect("--server-ca");
    assert!(mounted(agent, ca), "the CA is mounted");
}

/// The systemd units, with the binary path replaced by the one under test.
fn units(dir: &Path) -> Vec<PathBuf> {
    let env_file = write_temp(
        dir,
        "agent.env",
        "PUMMEL_SERVER=http://127.0.0.1:1\nPUMMEL_TOKEN=x\n",
    );
    let mut units = Vec::new();
    for (name, instance) in [
        ("pummel-server.service", "pummel-server.service"),
        ("pummel-agent@.service", "pummel-agent@a.service"),
    ] {
        let text =
            std::fs::read_to_string(repo().join("deploy/systemd").join(name)).expect("a unit");
        assert!(
            text.contains("/usr/local/bin/pummel "),
            "{name} runs /usr/local/bin/pummel"
        );
        let text = text
            .replace(
                "/usr/local/bin/pummel ",
                &format!("{} ", crate::util::pummel_bin()),
            )
            .replace("/etc/pummel/agent.env", &env_file.to_string_lossy());
        write_temp(dir, name, &text);
        units.push(write_temp(dir, instance, &text));
    }
    units
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    let _busy = crate::util::busy();
    let Some(analyze) = which("systemd-analyze") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let units = units(dir.path());
    let out = Command::new(analyze)
        .arg("verify")
        .args(&units)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    // Unknown keys are only warned about; a unit with one is still wrong.
    assert!(
        stderr.trim().is_empty(),
        "systemd-analyze warned:\n{stderr}"
    );
}

/// What the Dockerfile's final stage runs.
#[derive(Debug, Default)]
pub(crate) struct Image {
    pub(crate) user: String,
    pub(crate) entrypoint: Vec<String>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) volumes: Vec<String>,
    pub(crate) binary_copied_to: Option<String>,
}

/// Reads the final stage of the Dockerfile (instructions on one line each, or continued with `\`).
pub(crate) fn image() -> Image {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("the Dockerfile");
    let joined = text.replace("\\\n", " ");
    let mut image = Image::default();
    for line in joined.lines().map(str::trim) {
        let (instruction, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match instruction {
            "FROM" => image = Image::default(),
            "USER" => rest.clone_into(&mut image.user),
            "ENTRYPOINT" => {
                image.entrypoint = serde_json::from_str(rest).expect("ENTRYPOINT in exec form")
            }
            "VOLUME" => image.volumes = serde_json::from_str(rest).expect("VOLUME as a JSON list"),
            "ENV" => {
                let (k, v) = rest.split_once('=').expect("ENV KEY=VALUE");
                image.env.insert(k.to_owned(), v.to_owned());
            }
            "COPY" if rest.contains("--from=build") && rest.contains("release/pummel") => {
                image.binary_copied_to = rest.split_whitespace().last().map(str::to_owned);
            }
            _ => {}
        }
    }
    image
}

#[test]
fn the_image_runs_the_one_binary_as_a_numeric_non_root_user() {
    let _busy = crate::util::busy();
    let image = image();
    let (uid, gid) = image.user.split_once(':').unwrap_or((&image.user, ""));
    let uid: u32 = uid
        .parse()
        .expect("a numeric USER (Kubernetes' runAsNonRoot needs one)");
    assert!(uid > 0, "USER {uid}");
    assert!(
        gid.is_empty() || gid.parse::<u32>().is_ok_and(|g| g > 0),
        "group {gid}"
    );
    assert_eq!(image.entrypoint.len(), 1, "{:?}", image.entrypoint);
    assert_eq!(
        image.binary_copied_to.as_deref(),
        Some(image.entrypoint[0].as_str())
    );
    let data_dir = image.env.get("PUMMEL_DATA_DIR").expect("PUMMEL_DATA_DIR");
    assert_eq!(
        image.volumes,
        std::slice::from_ref(data_dir),
        "the data directory is the volume"
    );
}

/// A process started as a manifest says, killed when dropped.
struct Started {
    child: std::process::Child,
    what: String,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The user a container runs as: when the tests run as root, the manifest's numeric user (through
/// `setpriv`); otherwise the tests' own user, which is not root either.
struct RunAs {
    uid: u32,
    gid: u32,
    switch: bool,
}

impl RunAs {
    fn of(workload: &Value) -> RunAs {
        let sc = &workload["spec"]["template"]["spec"]["securityContext"];
        let id = |v: &Value| u32::try_from(v.as_u64().expect("a numeric id")).expect("an id");
        RunAs {
            uid: id(&sc["runAsUser"]),
            gid: id(&sc["runAsGroup"]),
            switch: current_uid() == 0,
        }
    }

    fn command(&self) -> Command {
        if self.switch {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={}", self.uid),
                &format!("--regid={}", self.gid),
                "--clear-groups",
                "--",
                crate::util::pummel_bin(),
            ]);
            c
        } else {
            Command::new(crate::util::pummel_bin())
        }
    }
}

fn current_uid() -> u32 {
    let out = run(Command::new("id").arg("-u"));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a uid")
}

/// Kubernetes' `$(VAR)` expansion of container arguments from the container's environment.
fn expand(arg: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = arg.to_owned();
    for (k, v) in env {
        out = out.replace(&format!("$({k})"), v);
    }
    out
}

/// A container's environment as the kubelet would give it: plain values, the test Secret's values
/// for `secretKeyRef`, and the downward API's pod and node names.
fn environment(container: &Value, pod: &str, node: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().expect("an env name").to_owned();
        let value = if let Some(v) = e["value"].as_str() {
            v.to_owned()
        } else if let Some(key) = e["valueFrom"]["secretKeyRef"]["key"].as_str() {
            let (_, v) = TOKENS
                .iter()
                .find(|(k, _)| *k == key)
                .expect("a key of the Secret");
            (*v).to_owned()
        } else {
            match e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                Some("metadata.name") => pod.to_owned(),
                Some("spec.nodeName") => node.to_owned(),
                other => panic!("an env source the test does not know: {other:?}"),
            }
        };
        env.insert(name, value);
    }
    env
}

/// Starts `container` as its manifest says, with `rewrite` applied to each argument and env value
/// (the one place where the test departs from the manifest: cluster paths and addresses).
fn start(
    container: &Value,
    user: &RunAs,
    env: &BTreeMap<String, String>,
    rewrite: &dyn Fn(&str) -> String,
) -> Started {
    let mut command = user.command();
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        command.env(k, rewrite(v));
    }
    let args: Vec<String> = args(container)
        .iter()
        .map(|a| rewrite(&expand(a, env)))
        .collect();
    command.args(&args);
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("start {args:?}: {e}"));
    Started {
        child,
        what: format!("{args:?}"),
    }
}

/// `GET path` on 127.0.0.1:port; the status code, or `None` while nothing answers.
fn get_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = String::new();
    stream.read_to_string(&mut head).ok()?;
    head.split_whitespace().nth(1)?.parse().ok()
}

/// Polls `ready` every 50 ms until it holds, at most `limit`; the processes' exits fail the test.
fn wait_for(
    what: &str,
    limit: std::time::Duration,
    processes: &mut [&mut Started],
    mut ready: impl FnMut() -> bool,
) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if ready() {
            return;
        }
        for p in processes.iter_mut() {
            if let Ok(Some(status)) = p.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = p.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("{} exited ({status}) before {what}:\n{err}", p.what);
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn the_server_and_an_agent_start_as_the_manifests_say_and_meet() {
    let _busy = crate::util::busy();
    let Some(tools) = Tools::find("the_server_and_an_agent_start_as_the_manifests_say") else {
        return;
    };
    let small = render(&tools, "overlays/small");
    let server_set = small.object("StatefulSet", "pummel-server");
    let agents = small.object("Deployment", "pummel-agent");
    assert_eq!(
        image().entrypoint,
        ["/usr/local/bin/pummel"],
        "the binary the manifests run"
    );

    // The volume and the address are the cluster's; here they are a temporary directory and a free
    // port on 127.0.0.1 (nothing listens beyond loopback).
    let data = tempfile::tempdir().expect("a temporary directory");
    let server_user = RunAs::of(server_set);
    if server_user.switch {
        run(Command::new("chown")
            .arg(format!("{}:{}", server_user.uid, server_user.gid))
            .arg(data.path()));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let data_dir = data.path().to_string_lossy().into_owned();
    let rewrite = |s: &str| {
        s.replace("/var/lib/pummel", &data_dir)
            .replace("0.0.0.0:7878", &format!("127.0.0.1:{port}"))
            .replace("pummel-server:7878", &format!("127.0.0.1:{port}"))
    };

    let pod = &server_set["spec"]["template"]["spec"];
    for init in pod["initContainers"].as_array().expect("init containers") {
        let env = environment(init, "pummel-server-0", "node-a");
        let mut started = start(init, &server_user, &env, &rewrite);
        let status = started.child.wait().expect("wait for an init container");
        assert!(
            status.success(),
            "init container {} failed: {status}",
            started.what
        );
        // Registering the same token again (the next start of the pod) changes nothing.
        let mut again = start(init, &server_user, &env, &rewrite);
        assert!(
            again.child.wait().expect("wait").success(),
            "{} is not idempotent",
            again.what
        );
    }
    let main = container(server_set, "server");
    let mut server = start(
        main,
        &server_user,
        &environment(main, "pummel-server-0", "node-a"),
        &rewrite,
    );
    let health = main["readinessProbe"]["httpGet"]["path"]
        .as_str()
        .expect("a probe path");
    wait_for(
        "the server's readiness probe",
        std::time::Duration::from_secs(20),
        &mut [&mut server],
        || get_status(port, health) == Some(200),
    );

    let agent_container = container(agents, "agent");
    let agent_env = environment(agent_container, "pummel-agent-5d8f-x2k", "node-b");
    let mut agent = start(agent_container, &RunAs::of(agents), &agent_env, &rewrite);
    let client_token = TOKENS[2].1;
    let url = format!("http://127.0.0.1:{port}");
    wait_for(
        "the agent in `pummel agents`",
        std::time::Duration::from_secs(20),
        &mut [&mut server, &mut agent],
        || {
            let out = Command::new(crate::util::pummel_bin())
                .args(["agents", "--server", &url, "--token", client_token])
                .output()
                .expect("run pummel agents");
            let text = String::from_utf8_lossy(&out.stdout);
            out.status.success()
                && text.contains("pummel-agent-5d8f-x2k")
                && text.contains("node=node-b")
        },
    );
}
