//! Graph's evolvable enums. A string this version does not know is kept as
//! `Unrecognized` (the text stays readable), never an error.
//!
//! Each enum is one list of `Member = "graphName"` pairs: the Rust enum, its doc
//! lines, [`Status::MEMBERS`] and the name lookups both ways come from it. The C
//! ABI's `teamsop_status` / `teamsop_type` are matched to these by member name at
//! build time (`src/ffi/enums.rs`).

/// Defines a Graph enum from its members and their Graph names, in the order of
/// Graph's schema, plus `Unrecognized`.
macro_rules! graph_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$member_meta:meta])* $member:ident = $graph:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("`", $graph, "`")]
                $(#[$member_meta])*
                $member,
            )*
            /// A string this version does not know; read the text from the operation.
            Unrecognized,
        }

        impl $name {
            /// Graph's members, in the order of its schema (`Unrecognized` aside).
            pub const MEMBERS: &'static [$name] = &[$($name::$member),*];

            /// The member for `text`, or `Unrecognized`. OData enum members are
            /// matched ignoring ASCII case, as the Graph SDKs do.
            pub fn from_graph(text: &str) -> $name {
                $name::MEMBERS
                    .iter()
                    .copied()
                    .find(|m| m.graph_name().is_some_and(|n| n.eq_ignore_ascii_case(text)))
                    .unwrap_or($name::Unrecognized)
            }

            /// Graph's name of the member; `None` for `Unrecognized`.
            pub fn graph_name(self) -> Option<&'static str> {
                match self {
                    $( $name::$member => Some($graph), )*
                    $name::Unrecognized => None,
                }
            }
        }
    };
}

graph_enum! {
    /// teamsAsyncOperationStatus.
    pub enum Status {
        Invalid = "invalid",
        NotStarted = "notStarted",
        InProgress = "inProgress",
        Succeeded = "succeeded",
        Failed = "failed",
        /// (Graph's placeholder for members the caller did not opt into)
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// teamsAsyncOperationType (beta).
    pub enum OperationType {
        Invalid = "invalid",
        CloneTeam = "cloneTeam",
        ArchiveTeam = "archiveTeam",
        UnarchiveTeam = "unarchiveTeam",
        CreateTeam = "createTeam",
        UnknownFutureValue = "unknownFutureValue",
        TeamifyGroup = "teamifyGroup",
        CreateChannel = "createChannel",
        CreateChat = "createChat",
        ArchiveChannel = "archiveChannel",
        UnarchiveChannel = "unarchiveChannel",
    }
}

impl Status {
    /// Succeeded, failed or invalid: the operation will not change any more.
    /// `unknownFutureValue` and strings this version does not know are not terminal
    /// (a wait goes on).
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips() {
        assert_eq!(Status::MEMBERS.len(), 6);
        for &value in Status::MEMBERS {
            let name = value.graph_name().unwrap();
            assert_eq!(Status::from_graph(name), value);
        }
        assert_eq!(Status::from_graph("notStarted"), Status::NotStarted);
        assert_eq!(Status::from_graph("SUCCEEDED"), Status::Succeeded);
        assert_eq!(Status::from_graph("paused"), Status::Unrecognized);
        assert_eq!(Status::from_graph(""), Status::Unrecognized);
        assert_eq!(Status::Unrecognized.graph_name(), None);
    }

    #[test]
    fn every_type_round_trips() {
        assert_eq!(OperationType::MEMBERS.len(), 11);
        for &value in OperationType::MEMBERS {
            let name = value.graph_name().unwrap();
            assert_eq!(OperationType::from_graph(name), value);
        }
        assert_eq!(
            OperationType::from_graph("createChat"),
            OperationType::CreateChat
        );
        assert_eq!(
            OperationType::from_graph("moveTeam"),
            OperationType::Unrecognized
        );
    }

    #[test]
    fn terminal_statuses() {
        assert!(Status::Succeeded.is_terminal());
        assert!(Status::Failed.is_terminal());
        assert!(Status::Invalid.is_terminal());
        assert!(!Status::NotStarted.is_terminal());
        assert!(!Status::InProgress.is_terminal());
        assert!(!Status::UnknownFutureValue.is_terminal());
        assert!(!Status::Unrecognized.is_terminal());
    }
}
