//! End-to-end tests: one binary, so the host and its dependencies are linked once.

mod e2e {
    mod bad_input;
    mod contract;
    mod custom;
    mod escape;
    mod events;
    mod grants;
    mod hostile;
    mod impersonation;
    mod loading;
    mod rbac;
}
