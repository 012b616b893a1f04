//! Graph's evolvable enums. A string this version does not know is kept as
//! `Unrecognized` (the text stays readable), never an error.

/// teamsAsyncOperationStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// `invalid`
    Invalid,
    /// `notStarted`
    NotStarted,
    /// `inProgress`
    InProgress,
    /// `succeeded`
    Succeeded,
    /// `failed`
    Failed,
    /// `unknownFutureValue` (Graph's placeholder for members the caller did not opt into)
    UnknownFutureValue,
    /// A string this version does not know; read the text from the operation.
    Unrecognized,
}

/// teamsAsyncOperationType (beta).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperationType {
    /// `invalid`
    Invalid,
    /// `cloneTeam`
    CloneTeam,
    /// `archiveTeam`
    ArchiveTeam,
    /// `unarchiveTeam`
    UnarchiveTeam,
    /// `createTeam`
    CreateTeam,
    /// `unknownFutureValue`
    UnknownFutureValue,
    /// `teamifyGroup`
    TeamifyGroup,
    /// `createChannel`
    CreateChannel,
    /// `createChat`
    CreateChat,
    /// `archiveChannel`
    ArchiveChannel,
    /// `unarchiveChannel`
    UnarchiveChannel,
    /// A string this version does not know; read the text from the operation.
    Unrecognized,
}

/// Graph's member names, in the order of its schema.
const STATUS_NAMES: [(&str, Status); 6] = [
    ("invalid", Status::Invalid),
    ("notStarted", Status::NotStarted),
    ("inProgress", Status::InProgress),
    ("succeeded", Status::Succeeded),
    ("failed", Status::Failed),
    ("unknownFutureValue", Status::UnknownFutureValue),
];

const TYPE_NAMES: [(&str, OperationType); 11] = [
    ("invalid", OperationType::Invalid),
    ("cloneTeam", OperationType::CloneTeam),
    ("archiveTeam", OperationType::ArchiveTeam),
    ("unarchiveTeam", OperationType::UnarchiveTeam),
    ("createTeam", OperationType::CreateTeam),
    ("unknownFutureValue", OperationType::UnknownFutureValue),
    ("teamifyGroup", OperationType::TeamifyGroup),
    ("createChannel", OperationType::CreateChannel),
    ("createChat", OperationType::CreateChat),
    ("archiveChannel", OperationType::ArchiveChannel),
    ("unarchiveChannel", OperationType::UnarchiveChannel),
];

/// OData enum members are matched ignoring ASCII case, as the Graph SDKs do.
fn lookup<T: Copy>(table: &[(&str, T)], text: &str, unrecognized: T) -> T {
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map_or(unrecognized, |&(_, value)| value)
}

fn name_of<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> Option<&'static str> {
    table
        .iter()
        .find(|(_, v)| v == value)
        .map(|&(name, _)| name)
}

impl Status {
    /// The member for `text`, or `Unrecognized`.
    pub fn from_graph(text: &str) -> Status {
        lookup(&STATUS_NAMES, text, Status::Unrecognized)
    }

    /// Graph's name of the member; `None` for `Unrecognized`.
    pub fn graph_name(self) -> Option<&'static str> {
        name_of(&STATUS_NAMES, &self)
    }

    /// Succeeded or failed: the operation will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed)
    }
}

impl OperationType {
    /// The member for `text`, or `Unrecognized`.
    pub fn from_graph(text: &str) -> OperationType {
        lookup(&TYPE_NAMES, text, OperationType::Unrecognized)
    }

    /// Graph's name of the member; `None` for `Unrecognized`.
    pub fn graph_name(self) -> Option<&'static str> {
        name_of(&TYPE_NAMES, &self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips() {
        for (name, value) in STATUS_NAMES {
            assert_eq!(Status::from_graph(name), value);
            assert_eq!(value.graph_name(), Some(name));
        }
        assert_eq!(Status::from_graph("SUCCEEDED"), Status::Succeeded);
        assert_eq!(Status::from_graph("paused"), Status::Unrecognized);
        assert_eq!(Status::from_graph(""), Status::Unrecognized);
        assert_eq!(Status::Unrecognized.graph_name(), None);
    }

    #[test]
    fn every_type_round_trips() {
        for (name, value) in TYPE_NAMES {
            assert_eq!(OperationType::from_graph(name), value);
            assert_eq!(value.graph_name(), Some(name));
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
        assert!(!Status::InProgress.is_terminal());
        assert!(!Status::Unrecognized.is_terminal());
    }
}
