//! A `kube` client of the cluster, as its administrator (kubeadm's
//! admin.conf). The API server listens inside the cluster's network
//! namespace, so the client runs on an async runtime whose threads all live
//! there; every call is spawned onto it.

use crate::netns::NetNs;
use std::future::Future;
use std::path::Path;

pub struct Kube {
    rt: tokio::runtime::Runtime,
    pub client: kube::Client,
}

impl Kube {
    pub fn connect(netns: &NetNs, kubeconfig: &Path) -> Result<Kube, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .on_thread_start(netns.joiner())
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig)
            .map_err(|e| format!("{}: {e}", kubeconfig.display()))?;
        let client = rt
            .block_on(rt.spawn(async move {
                let options = kube::config::KubeConfigOptions::default();
                let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?;
                kube::Client::try_from(config)
            }))
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("kube client: {e}"))?;
        Ok(Kube { rt, client })
    }

    /// Runs `f(client)` on the runtime (inside the namespace) to its end.
    pub fn run<T, F>(&self, f: impl FnOnce(kube::Client) -> F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let task = self.rt.spawn(f(self.client.clone()));
        self.rt.block_on(task).expect("kube task")
    }

    /// GET of an API server path (`/readyz`): its body, or why not.
    pub fn get_raw(&self, path: &str) -> Result<String, String> {
        let request = http::Request::get(path).body(Vec::new()).unwrap();
        self.run(|c| async move { c.request_text(request).await.map_err(|e| e.to_string()) })
    }
}
