//! The string fields of an operation, and a table holding one value per field.

use std::ops::{Index, IndexMut};

/// Defines `Field` from its members and the JSON names used in messages.
macro_rules! fields {
    ($( $(#[$meta:meta])* $field:ident = $json:literal, )*) => {
        /// A string field of an operation, for code that reads them generically
        /// (the C layer hands out one accessor per field).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Field {
            $( $(#[$meta])* $field, )*
        }

        impl Field {
            /// How many fields there are.
            pub(crate) const COUNT: usize = [$($json),*].len();

            /// Every field, in the order of the definition.
            pub(crate) const ALL: [Field; Field::COUNT] = [$(Field::$field),*];

            /// The field's JSON name, for messages (`error.code` for a nested one).
            pub(crate) fn json_name(self) -> &'static str {
                match self {
                    $( Field::$field => $json, )*
                }
            }
        }
    };
}

fields! {
    Id = "id",
    Status = "status",
    OperationType = "operationType",
    CreatedDateTime = "createdDateTime",
    LastActionDateTime = "lastActionDateTime",
    TargetResourceId = "targetResourceId",
    TargetResourceLocation = "targetResourceLocation",
    /// `values`, or `Value` when only that one is sent.
    Values = "values",
    ErrorCode = "error.code",
    ErrorMessage = "error.message",
    ODataContext = "@odata.context",
}

/// One `T` per [`Field`], read and written by field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Fields<T>([T; Field::COUNT]);

impl<T> Fields<T> {
    /// Each field with its value, in the order of [`Field::ALL`].
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Field, &T)> {
        Field::ALL.into_iter().zip(&self.0)
    }
}

impl<T> Index<Field> for Fields<T> {
    type Output = T;

    fn index(&self, field: Field) -> &T {
        &self.0[field as usize]
    }
}

impl<T> IndexMut<Field> for Fields<T> {
    fn index_mut(&mut self, field: Field) -> &mut T {
        &mut self.0[field as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_its_own_slot_and_name() {
        let mut table: Fields<usize> = Fields::default();
        for (i, field) in Field::ALL.into_iter().enumerate() {
            assert_eq!(field as usize, i, "ALL is in the order of the definition");
            table[field] = i + 1;
        }
        for (field, &value) in table.iter() {
            assert_eq!(value, field as usize + 1);
        }
        let mut names: Vec<_> = Field::ALL.iter().map(|f| f.json_name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Field::COUNT);
    }
}
