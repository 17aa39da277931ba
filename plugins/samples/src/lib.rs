//! The sample applications Meshery offers with every mesh, as Kubernetes objects, embedded so
//! they deploy in an air-gapped cluster. Mesh-specific parts (injection, gateways) are the
//! translators' business. (Being written.)

use serde_json::Value;

/// One sample application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    Bookinfo,
    Httpbin,
    Imagehub,
    Emojivoto,
}

impl App {
    pub const ALL: [App; 4] = [App::Bookinfo, App::Httpbin, App::Imagehub, App::Emojivoto];

    /// The operation key Meshery uses for it.
    pub fn key(self) -> &'static str {
        match self {
            App::Bookinfo => "bookinfo",
            App::Httpbin => "httpbin",
            App::Imagehub => "imagehub",
            App::Emojivoto => "emojivoto",
        }
    }

    pub fn from_key(key: &str) -> Option<App> {
        App::ALL.into_iter().find(|a| a.key() == key)
    }

    /// The application's objects, without a namespace (they go to the request's namespace).
    pub fn objects(self) -> Vec<Value> {
        Vec::new()
    }
}
