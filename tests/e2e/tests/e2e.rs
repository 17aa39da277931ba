//! End-to-end tests: one binary, so the host and its dependencies are linked once.

mod e2e {
    mod assets;
    mod bad_input;
    mod cache;
    mod callers;
    mod capabilities;
    mod contract;
    mod custom;
    mod drift;
    mod escape;
    mod events;
    mod faults;
    mod grant_bypass;
    mod grants;
    mod hostile;
    mod impersonation;
    mod istio_design;
    mod istio_install;
    mod istio_ops;
    mod istio_vet;
    mod kuma;
    mod lift;
    mod linkerd_addons;
    mod linkerd_check;
    mod linkerd_design;
    mod linkerd_install;
    mod loading;
    mod many_clusters;
    mod operable;
    mod pool;
    mod python;
    mod rbac;
    mod registration;
    mod review;
    mod terminating;
    mod undo;
    mod warnings;
    mod yaml_bombs;
}
