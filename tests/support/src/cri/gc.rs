//! What kubelet's image garbage collection does when the disk fills up,
//! made through the same CRI calls: ListImages, ListContainers, then
//! RemoveImage of every image that no container uses and that the runtime
//! does not report `pinned`. A sandbox is no user: since
//! kubernetes/kubernetes#118544 (kubelet 1.29) the sandbox image is kept only
//! if the runtime pins it.

use super::api;
use super::client::Cri;
use std::collections::BTreeSet;

impl Cri {
    /// Removes, as kubelet's image GC would with its minimum age at zero,
    /// every image no container uses and that is not pinned; returns them.
    pub fn collect_unused_images(&self) -> Vec<api::Image> {
        let in_use = self.images_in_use();
        let unused = self
            .list_images()
            .into_iter()
            .filter(|i| !i.pinned && !is_used(i, &in_use))
            .collect::<Vec<_>>();
        for image in &unused {
            // By id, as kubelet does: that removes every name of the image.
            self.remove_image(&image.id)
                .unwrap_or_else(|e| panic!("RemoveImage {}: {e}\n{}", image.id, self.log_tail()));
        }
        unused
    }

    /// The image of every container, in any state (kubelet counts exited
    /// containers too): ListContainers' image_ref and image name.
    fn images_in_use(&self) -> BTreeSet<String> {
        let mut rs = self.runtime();
        let containers = self
            .call(rs.list_containers(api::ListContainersRequest { filter: None }))
            .unwrap_or_else(|e| panic!("ListContainers: {e}\n{}", self.log_tail()))
            .into_inner()
            .containers;
        containers
            .into_iter()
            .flat_map(|c| [Some(c.image_ref), c.image.map(|i| i.image)])
            .flatten()
            .collect()
    }
}

/// Whether `image` is one of the images `in_use` names, by id, digest or tag.
fn is_used(image: &api::Image, in_use: &BTreeSet<String>) -> bool {
    std::iter::once(&image.id)
        .chain(&image.repo_digests)
        .chain(&image.repo_tags)
        .any(|name| in_use.contains(name))
}
