//! Images: imported from OCI archives with `ctr` (or pulled from a test
//! registry), and the CRI image calls kubelet makes: ImageStatus (with the
//! `pinned` flag its garbage collection obeys), ListImages, RemoveImage.

use super::api;
use super::client::Cri;
use super::node::Node;
use crate::command::run;
use crate::wait::poll_some;
use std::path::Path;
use std::process::Command;

impl Node {
    /// `ctr --address SOCKET ARGS`: containerd's own client for this node,
    /// from the same version as its containerd.
    pub fn ctr(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.containerd.binary("ctr"));
        c.arg("--address").arg(&self.socket).args(args);
        c
    }

    /// `ctr -n k8s.io images import` of an OCI archive (never a pull), then
    /// waits until the CRI image service knows `reference`.
    pub fn import(&self, archive: &Path, reference: &str) {
        let mut ctr = self.ctr(&["-n", "k8s.io", "images", "import", "--all-platforms"]);
        ctr.arg(archive);
        run(ctr).check();
        poll_some(&format!("CRI image service lists {reference}"), || {
            self.image_status(reference).map(|_| ())
        });
    }
}

impl Cri {
    /// ImageStatus: the image if the CRI image service knows it.
    pub fn image_status(&self, reference: &str) -> Option<api::Image> {
        let mut is = self.images();
        self.call(is.image_status(api::ImageStatusRequest {
            image: Some(api::ImageSpec {
                image: reference.into(),
                ..Default::default()
            }),
            verbose: false,
        }))
        .ok()?
        .into_inner()
        .image
    }

    /// CRI PullImage; the error text if it fails.
    pub fn pull(&self, image: &str) -> Result<(), String> {
        let mut is = self.images();
        self.call(is.pull_image(api::PullImageRequest {
            image: Some(api::ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
            auth: None,
            sandbox_config: None,
        }))
        .map(|_| ())
        .map_err(|e| e.message().to_string())
    }

    /// ListImages: every image the CRI image service knows.
    pub fn list_images(&self) -> Vec<api::Image> {
        let mut is = self.images();
        self.call(is.list_images(api::ListImagesRequest { filter: None }))
            .unwrap_or_else(|e| panic!("ListImages: {e}\n{}", self.log_tail()))
            .into_inner()
            .images
    }

    /// RemoveImage of an image id or reference; the error text if it fails.
    pub fn remove_image(&self, image: &str) -> Result<(), String> {
        let mut is = self.images();
        self.call(is.remove_image(api::RemoveImageRequest {
            image: Some(api::ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
        }))
        .map(|_| ())
        .map_err(|e| e.message().to_string())
    }
}
